"""The pieces of YAML that more than one plan of `runbook new` writes (newplan.py and
newmove.py): written once, so that the plans cannot drift apart. Each returns the text at
the indentation where every plan writes it: steps at six spaces, a step's post checks at
ten, a stage's checks at six (``indent`` says which)."""

from __future__ import annotations

# Proving to CloudFront that we may move ${old_host}: AssociateAlias wants a TXT record
# _OLD naming the distribution that takes it.
MOVE_PROOF = """\
      - id: move-proof
        title: Prove to CloudFront that we may move ${old_host} (TXT _${old_host})
        action:
          route53.record:
            zone: ${old_zone}
            name: _${old_host}
            type: TXT
            ttl: 60
            distribution_domain: ${redirect_distribution}
        post:
          - route53.record: {zone: "${old_zone}", name: "_${old_host}", type: TXT}
        rollback: auto
"""

# DNS of the old name at the redirect distribution (a step: six spaces)
OLD_DNS = """\
      - id: old-dns
        use: route53-alias
        with: {zone: "${old_zone}", name: "${old_host}", distribution: "${redirect_distribution}"}
"""


def move_alias(source: str) -> str:
    """The action that moves ${old_host} from ``source`` to the redirect distribution in
    one CloudFront call (its step's id, title and pre checks come before it)."""
    return f"""\
        action:
          cloudfront.move_alias:
            alias: ${{old_host}}
            source: {source}
            target: ${{redirect_distribution}}
            zone: ${{old_zone}}
"""


# The redirect distribution deployed with the old name, waited for as long as a
# deployment takes (a post check: ten spaces).
REDIRECT_DEPLOYED = """\
          - cloudfront.distribution:
              id: ${redirect_distribution}
              status: Deployed
              aliases: {contains: ["${old_host}"]}
            within: 25m
            every: 30s
"""


def keeps_path(indent: str, status: int = 301) -> str:
    """An http.redirect of a deep URL with a query: the old host's redirect keeps both."""
    return f"""\
{indent}- http.redirect:
{indent}    from: https://${{old_host}}/some/page?with=query
{indent}    to: https://${{new_host}}/
{indent}    status: {status}
{indent}    keep_path: true
{indent}    keep_query: true"""


def dns_exists(name: str, indent: str = "      ") -> str:
    """The record ``name`` exists, asked of the zone's own name servers."""
    return f"""\
{indent}- dns.record:
{indent}    name: {name}
{indent}    type: A
{indent}    resolvers: authoritative
{indent}    exists: true
"""


def certificate_covers(distribution: str, name: str, indent: str = "      ") -> str:
    return f"""\
{indent}- acm.certificate:
{indent}    distribution: {distribution}
{indent}    covers: ["{name}"]
"""


def deployed(distribution: str, indent: str = "      ") -> str:
    return f"""\
{indent}- cloudfront.distribution:
{indent}    id: {distribution}
{indent}    status: Deployed
"""
