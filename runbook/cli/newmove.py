"""The plan `runbook new` writes for a site moving to a new host name: the new name on the
site's distribution, the old name's paths redirected by a map and the rest of the old host
redirected keeping the path, DNS last.

Until DNS moves, every check of the new host goes through its distribution
(``connect_to`` its *.cloudfront.net name, an output of the step that adds the name):
``https://NEW/`` does not resolve yet.
"""

from __future__ import annotations

from runbook.cli.planparts import (
    MOVE_PROOF,
    OLD_DNS,
    REDIRECT_DEPLOYED,
    certificate_covers,
    deployed,
    dns_exists,
    keeps_path,
    move_alias,
)

TITLE = "Move {old_host} to {new_host}"


def _map_step(v: dict[str, str]) -> str:
    if not v.get("map"):
        return ""
    return """\
      - id: path-map
        title: Redirect the old paths in ${map} at the edge of ${redirect_distribution}
        action:
          cloudfront.redirects:
            id: ${redirect_distribution}
            file: ${map}
        post:
          - cloudfront.distribution:
              id: ${redirect_distribution}
              status: Deployed
            within: 25m
            every: 30s
        rollback: auto
"""


def _map_check(v: dict[str, str], indent: str, via: str) -> str:
    if not v.get("map"):
        return ""
    line = f"\n{indent}    connect_to: {via}" if via else ""
    return f"\n{indent}- http.redirects:\n{indent}    file: ${{map}}{line}"


def body(v: dict[str, str]) -> str:
    contains = ", contains: \"${contains}\"" if v.get("contains") else ""
    via_site = "${steps.alias.domain_name}"
    via_redirect = "${steps.move-old-host.domain_name}"
    return f"""\
  - name: preflight
    title: Prove the starting state; nothing changes here
    checks:
{deployed("${site_distribution}")}\
          aliases: {{contains: ["${{old_host}}"]}}
      - cloudfront.alias_free:
          alias: ${{new_host}}
          distribution: ${{site_distribution}}
{certificate_covers("${site_distribution}", "${new_host}")}\
{deployed("${redirect_distribution}")}\
{certificate_covers("${redirect_distribution}", "${old_host}")}\
      - http.get:
          url: https://${{old_host}}/
          status: 200

  - name: new-host
    title: Serve the site on ${{new_host}} too (proved through its distribution; DNS moves last)
    confirm: Add ${{new_host}} to ${{site_distribution}}?
    steps:
      - id: alias
        use: cloudfront-add-alias
        with: {{distribution: "${{site_distribution}}", alias: "${{new_host}}"{contains}}}

  - name: old-host
    title: Redirect ${{old_host}} to ${{new_host}}
    notes: |
      The old name moves from the site's distribution to one whose origin is an S3
      website that redirects every request to ${{new_host}} keeping the path, in one
      CloudFront call (AssociateAlias): no moment in which neither serves it. AWS
      requires a TXT record _${{old_host}} naming the redirect distribution first.
      ${{new_host}} has no DNS yet: it is fetched through its distribution.
    confirm: Move ${{old_host}} to the redirect distribution?
    steps:
      - id: redirect-bucket
        use: old-domain-redirect
        with: {{bucket: "${{redirect_bucket}}", to: "${{new_host}}",
               distribution: "${{redirect_distribution}}", connect_to: "{via_site}"}}
{_map_step(v)}\
{MOVE_PROOF}\
      - id: move-old-host
        title: Move ${{old_host}} to the redirect distribution in one step
        pre:
          - http.get: {{url: "https://${{new_host}}/", connect_to: "{via_site}", status: 200}}
{move_alias("${site_distribution}")}\
        post:
{REDIRECT_DEPLOYED}\
{keeps_path("          ")}
              connect_to: {via_redirect}
            within: 5m
            every: 15s{_map_check(v, "          ", via_redirect)}
        rollback: auto

  - name: dns
    title: Point DNS at the distributions, last
    confirm: Point ${{new_host}} and ${{old_host}} at their distributions?
    steps:
      - id: new-dns
        use: route53-alias
        with: {{zone: "${{new_zone}}", name: "${{new_host}}", \
distribution: "${{site_distribution}}"}}
{OLD_DNS}\

  - name: verify
    title: Prove the change is in place
    checks:
      - http.get:
          url: https://${{new_host}}/
          status: 200
{keeps_path("      ")}{_map_check(v, "      ", "")}
{dns_exists("${new_host}")}"""
