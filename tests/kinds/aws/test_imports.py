"""Validating a plan imports every kinds module: the AWS ones must not pull in boto3."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import runbook.kinds.acm, runbook.kinds.cloudfront, runbook.kinds.route53, runbook.kinds.s3
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
print(",".join(loaded))
"""


def test_kinds_modules_do_not_import_boto3() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == ""
