"""Run state on S3: a moto server on loopback, one fresh bucket per test, and the real
CLI in subprocesses pointed at it the way an operator's shell would be (AWS_ENDPOINT_URL
and test keys; nothing of the developer's own AWS set-up)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PLANS = Path(__file__).parent / "plans"
_names = itertools.count()


@pytest.fixture(scope="session")
def s3(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"state-{os.getpid()}-{next(_names)}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def state(bucket: str) -> str:
    return f"s3://{bucket}/runbook"


def aws_env(endpoint: str, tmp: Path) -> dict[str, str]:
    """The environment of an operator's shell pointed at moto, and nothing else of AWS."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "RUNBOOK_"))}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "COLUMNS": "250", "NO_COLOR": "1"})
    return env


@dataclass
class Cli:
    """``runbook`` as an operator in ``folder`` runs it."""

    env: dict[str, str]

    def folder(self, path: Path, plan: str = "team.yaml") -> Path:
        path.mkdir(parents=True, exist_ok=True)
        shutil.copy(PLANS / plan, path / plan)
        return path

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "runbook", *args]

    def __call__(self, folder: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), cwd=folder, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def start(self, folder: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), cwd=folder, env={**self.env, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)


@pytest.fixture
def cli(moto_endpoint: str, tmp_path: Path) -> Cli:
    return Cli(aws_env(moto_endpoint, tmp_path))
