"""The sandbox image definitions and the default policy, shipped as package data (`agentflow.sandboxes`)."""
