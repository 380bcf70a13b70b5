"""Sandbox policies: hardened defaults, explicit loosening, files, digests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentflow.exceptions import ConfigError
from agentflow.sandbox import Policy, default_policy, load_policy
from agentflow.sandbox.policy import policy_from_dict


def test_the_shipped_default_policy_is_the_hardened_baseline() -> None:
    """sandboxes/policy.toml, as shipped, loosens nothing: no network, the baseline limits, runc."""
    policy = default_policy()
    assert policy == Policy()
    assert policy.network == "none" and policy.loosened() == {}
    assert (policy.memory_mb, policy.pids, policy.timeout_s, policy.work_dir_mb) == (512, 128, 30.0, 64)


def test_loosening_without_a_reason_is_refused_naming_the_fields() -> None:
    """network="allow" or a larger memory limit without `reason` is a ConfigError naming what was loosened."""
    with pytest.raises(
        ConfigError, match=r"looser than the default in memory_mb, network; say why in 'reason'"
    ):
        Policy(network="allow", memory_mb=1024)
    with pytest.raises(ConfigError, match="timeout_s"):
        Policy(timeout_s=31)


def test_loosening_with_a_reason_is_allowed_and_described() -> None:
    """With a reason the policy is valid; `loosened()` and `describe()` say what and why."""
    policy = Policy(network="allow", reason="downloads a dataset")
    assert policy.loosened() == {"network": "allow"}
    assert "network=allow" in policy.describe() and "downloads a dataset" in policy.describe()


def test_tightening_needs_no_reason() -> None:
    """Smaller limits and gVisor are never loosening."""
    policy = Policy(memory_mb=64, pids=16, timeout_s=1, cpus=0.5, runtime="runsc")
    assert policy.loosened() == {} and policy.describe().startswith("hardened")


def test_digest_depends_on_limits_not_on_the_reason() -> None:
    """Two policies with the same limits share a digest (and containers); any limit changes it."""
    a = Policy(network="allow", reason="one")
    b = Policy(network="allow", reason="two")
    assert a.digest == b.digest
    assert Policy().digest != Policy(memory_mb=256).digest


def test_as_dict_round_trips() -> None:
    """`as_dict()` (what a trace records) validates back to the same policy."""
    policy = Policy(network="allow", memory_mb=2048, reason="big data")
    assert policy_from_dict(policy.as_dict()) == policy


def test_policy_files_keep_the_baseline_for_missing_fields(tmp_path: Path) -> None:
    """A TOML file with one field changes that field only."""
    path = tmp_path / "p.toml"
    path.write_text("timeout_s = 5\n")
    assert load_policy(path) == Policy(timeout_s=5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('netwrk = "none"\n', "unknown field 'netwrk'"),
        ("memory_mb = 4\n", "'memory_mb': Input should be greater than or equal to 16"),
        ('network = "allow"\n', "say why in 'reason'"),
        ("network = \n", "not valid TOML"),
    ],
)
def test_bad_policy_files_are_config_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    """Unknown fields, out-of-range values, unexplained loosening and bad TOML are ConfigErrors."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    with pytest.raises(ConfigError, match="no such file"):
        load_policy(tmp_path / "nope.toml")
