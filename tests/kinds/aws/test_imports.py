"""Validating a plan imports every kinds module: the AWS ones must not pull in boto3."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import runbook.kinds.aws.acm, runbook.kinds.aws.cloudfront
import runbook.kinds.aws.route53, runbook.kinds.aws.s3
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
print(",".join(loaded))
"""


def test_kinds_modules_do_not_import_boto3() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == ""
