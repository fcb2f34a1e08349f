"""Lists AWS keeps as sets compare as sets; lists whose order AWS honours do not."""

from __future__ import annotations

from runbook.kinds.sets import CLOUDFRONT_SETS, POLICY_SETS, same_sets


def test_aliases_and_origins_compare_as_sets_but_cache_behaviours_keep_their_order():
    a = {"Aliases": {"Items": ["a.test", "b.test"]},
         "Origins": {"Items": [{"Id": "one"}, {"Id": "two"}]},
         "CacheBehaviors": {"Items": [{"PathPattern": "/x/*"}, {"PathPattern": "/*"}]}}
    b = {"Aliases": {"Items": ["b.test", "a.test"]},
         "Origins": {"Items": [{"Id": "two"}, {"Id": "one"}]},
         "CacheBehaviors": {"Items": [{"PathPattern": "/x/*"}, {"PathPattern": "/*"}]}}
    assert same_sets(a, b, CLOUDFRONT_SETS)
    b["CacheBehaviors"]["Items"].reverse()  # CloudFront tries behaviours in order
    assert not same_sets(a, b, CLOUDFRONT_SETS)


def test_policy_statements_compare_as_a_set():
    one, two = {"Sid": "A", "Effect": "Allow"}, {"Sid": "B", "Effect": "Deny"}
    assert same_sets({"Statement": [one, two]}, {"Statement": [two, one]}, POLICY_SETS)
    assert not same_sets({"Statement": [one]}, {"Statement": [two, one]}, POLICY_SETS)


def test_an_empty_list_wrapper_is_the_fields_absence():
    """A restore that writes "no function associations" back reads {Quantity: 0} where the
    configuration had no field: CloudFront means the same by both."""
    before = {"DefaultCacheBehavior": {"TargetOriginId": "site"}}
    for empty in ({"Quantity": 0}, {"Quantity": 0, "Items": []}):
        after = {"DefaultCacheBehavior": {"TargetOriginId": "site",
                                          "FunctionAssociations": empty}}
        assert same_sets(before, after, CLOUDFRONT_SETS)
    one = {"Quantity": 1, "Items": [{"EventType": "viewer-request", "FunctionARN": "f"}]}
    assert not same_sets(before, {"DefaultCacheBehavior": {
        "TargetOriginId": "site", "FunctionAssociations": one}}, CLOUDFRONT_SETS)
