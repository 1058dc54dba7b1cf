"""Create an S3 bucket unless it exists: the MLflow server's artifact store, made before the server
listens, so no upload can find it missing.

    python create_bucket.py BUCKET

The endpoint is MLFLOW_S3_ENDPOINT_URL (MinIO, or moto's server offline), the keys AWS_ACCESS_KEY_ID
and AWS_SECRET_ACCESS_KEY. Runs in the pipeline's image, which has boto3.
"""

from __future__ import annotations

import os
import sys

import boto3
from botocore.exceptions import ClientError


def main(bucket: str) -> None:
    s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
    try:
        s3.head_bucket(Bucket=bucket)
        print(f"bucket {bucket} exists", flush=True)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
        print(f"bucket {bucket} created", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
