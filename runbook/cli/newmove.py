"""The plan `runbook new` writes for a site moving to a new host name: the new name on the
site's distribution, the old name's paths redirected by a map and the rest of the old host
redirected keeping the path, DNS last.

Until DNS moves, every check of the new host goes through its distribution
(``connect_to`` its *.cloudfront.net name, an output of the step that adds the name):
``https://NEW/`` does not resolve yet.
"""

from __future__ import annotations

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
      - cloudfront.distribution:
          id: ${{site_distribution}}
          status: Deployed
          aliases: {{contains: ["${{old_host}}"]}}
      - cloudfront.alias_free:
          alias: ${{new_host}}
          distribution: ${{site_distribution}}
      - acm.certificate:
          distribution: ${{site_distribution}}
          covers: ["${{new_host}}"]
      - cloudfront.distribution:
          id: ${{redirect_distribution}}
          status: Deployed
      - acm.certificate:
          distribution: ${{redirect_distribution}}
          covers: ["${{old_host}}"]
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
      - id: move-proof
        title: Prove to CloudFront that we may move ${{old_host}} (TXT _${{old_host}})
        action:
          route53.record:
            zone: ${{old_zone}}
            name: _${{old_host}}
            type: TXT
            ttl: 60
            distribution_domain: ${{redirect_distribution}}
        post:
          - route53.record: {{zone: "${{old_zone}}", name: "_${{old_host}}", type: TXT}}
        rollback: auto
      - id: move-old-host
        title: Move ${{old_host}} to the redirect distribution in one step
        pre:
          - http.get: {{url: "https://${{new_host}}/", connect_to: "{via_site}", status: 200}}
        action:
          cloudfront.move_alias:
            alias: ${{old_host}}
            source: ${{site_distribution}}
            target: ${{redirect_distribution}}
            zone: ${{old_zone}}
        post:
          - cloudfront.distribution:
              id: ${{redirect_distribution}}
              status: Deployed
              aliases: {{contains: ["${{old_host}}"]}}
            within: 25m
            every: 30s
          - http.redirect:
              from: https://${{old_host}}/some/page?with=query
              to: https://${{new_host}}/
              status: 301
              keep_path: true
              keep_query: true
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
      - id: old-dns
        use: route53-alias
        with: {{zone: "${{old_zone}}", name: "${{old_host}}", \
distribution: "${{redirect_distribution}}"}}

  - name: verify
    title: Prove the change is in place
    checks:
      - http.get:
          url: https://${{new_host}}/
          status: 200
      - http.redirect:
          from: https://${{old_host}}/some/page?with=query
          to: https://${{new_host}}/
          status: 301
          keep_path: true
          keep_query: true{_map_check(v, "      ", "")}
      - dns.record:
          name: ${{new_host}}
          type: A
          resolvers: authoritative
          exists: true
"""
