# The public names of `agentflow.sandbox`: type checkers read this stub, and `__init__.py` loads each name lazily
# from the module named here, so graphs without sandbox tools do not import the sandbox machinery.

from .discovery import (
    mark_sandbox_tool as mark_sandbox_tool,
    policy_of_tool as policy_of_tool,
    sandbox_policies as sandbox_policies,
)
from .doctor import DoctorReport as DoctorReport, doctor as doctor
from .image import BuildReport as BuildReport, build_image as build_image, image_tag as image_tag
from .ownership import ReapReport as ReapReport, reap_orphans as reap_orphans
from .policy import Policy as Policy, default_policy as default_policy, load_policy as load_policy
from .pool import SandboxPool as SandboxPool
from .registry import (
    get_pool as get_pool,
    preflight as preflight,
    release_run as release_run,
    sandbox_for as sandbox_for,
    set_pool as set_pool,
    shutdown as shutdown,
)
from .result import ExecResult as ExecResult, FileContent as FileContent, FileInfo as FileInfo
from .sandbox import Sandbox as Sandbox
