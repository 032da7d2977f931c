"""The local stack: a SAM template's pipeline on one machine, on moto, without Docker.

- `template`, `intrinsics`: read the SAM template; resolve !Ref, !GetAtt, !Sub, !If...
- `provision`, `resources`: create its resources in moto (`provision(...) -> Deployment`).
- `invoke`: run a handler in-process with its function's environment and a Lambda context.
- `iam`: each function's role policy (from SAM's transform) enforced on its AWS calls.
- `api`: the template's Api routes over HTTP, as API Gateway REST proxy integrations.
- `sources`, `streams`, `queues`, `schedules`, `polling`, `filters`: the event sources.
- `stack`: `LocalStack` (pytest fixtures), `run` / `run_from_cli` (the command).
- `state`: the state file of a running stack and `fire_from_state` (no moto import).

Importing this package imports neither moto nor boto3.
"""
