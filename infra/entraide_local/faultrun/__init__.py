"""The whole pipeline in one process, as AWS runs it, with faults on every call: a fault run.

:class:`~.pipeline.Pipeline` creates every resource of ``template.yaml`` in moto, loads each
function's handler with its environment (and its IAM policy enforced), and drives them as
Lambda, SQS and EventBridge do: people post through the API (retrying what fails, with the
same ``Idempotency-Key``), the table's stream reaches its consumers with Lambda's retries
and failure destinations, moderators click their links, the relay's queue redelivers and
dead-letters, the schedules sweep, people write to the helpers they are matched with. AWS
calls fail on the way (:mod:`entraide_local.faults`), X too (:mod:`.world`). Then
:mod:`.census` counts each effect per subject, and :mod:`.meter` what the table billed.

``bench/faults.py`` runs it at a chosen size; ``tests/faults`` at a small one.
"""
