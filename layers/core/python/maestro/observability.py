"""Powertools Logger, Metrics and Tracer, created once per execution environment and shared by every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from maestro.settings import get_settings

_settings = get_settings()

logger = Logger(service=_settings.service_name)
metrics = Metrics(namespace="MaestroML", service=_settings.service_name)
# Patch botocore only: pynamodb and boto3 both go through it, and patching every supported library costs
# tens of milliseconds of cold start for modules we never use.
tracer = Tracer(service=_settings.service_name, patch_modules=["botocore"])
