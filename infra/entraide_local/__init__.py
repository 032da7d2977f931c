"""The local stack: a SAM template's pipeline on one machine, on moto, without Docker.

- `template`, `intrinsics`: read the SAM template; resolve !Ref, !GetAtt, !Sub, !If...
- `provision`, `resources`: create its resources in moto (`provision(...) -> Deployment`).
- `invoke`: run a handler in-process with its function's environment and a Lambda context.
- `iam`: each function's role policy (from SAM's transform) enforced on its AWS calls.
- `invoke`: run a function within its concurrency (`Invoker`), through a runtime:
  `workers` (execution environments as processes forked by `forkserver`, running `worker`)
  or `inprocess` (the stack's own process, for a debugger only).
- `asynchronous`, `lambda_api`, `destinations`: Lambda's asynchronous queue, its Invoke API
  and the destinations of records given up on.
- `moto_fixes`: moto made safe for concurrent functions and flat in memory; index lag.
- `api`: the template's Api routes over HTTP, as API Gateway REST proxy integrations.
- `sources`, `streams`, `queues`, `schedules`, `polling`, `filters`: the event sources.
- `stack`: `LocalStack` (pytest fixtures), `run` / `run_from_cli` (the command).
- `state`: the state file of a running stack and `fire_from_state` (no moto import).

Importing this package imports neither moto nor boto3.
"""
