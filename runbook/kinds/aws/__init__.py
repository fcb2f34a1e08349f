"""The AWS family of kinds: ``s3``, ``cloudfront``, ``route53`` and ``acm`` register kinds;
``common`` (clients, error translation, diffs), ``policy``, ``s3common``, ``s3copy``,
``s3site`` and ``cfconfig`` are their private helpers.
"""
