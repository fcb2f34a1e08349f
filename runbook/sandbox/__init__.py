"""The local twin: loopback servers that stand in for AWS, DNS and the CloudFront edge."""
