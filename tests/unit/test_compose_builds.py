"""`build:` sections from `compose config` output, as Compose v1 and v2 write it."""

from __future__ import annotations

from pathlib import Path

from conveyor.tools.compose import BuildSection, is_remote_context, parse_build_sections

# docker-compose 1.29 `config`: absolute context, Dockerfile relative to it, args as strings,
# an arg left unset written as ''.
V1 = """\
services:
  backend:
    build:
      args:
        FROMENV: ''
        NUM: '3'
        PIP_INDEX_URL: https://pypi.org/simple
      context: /srv/shop/backend
      dockerfile: Dockerfile.prod
      target: runtime
  db:
    image: postgres:16
  proxy:
    build:
      context: /srv/shop/proxy
version: '3.9'
"""

# Compose v2 `config`: a `name:`, networks, unset args as null, and depending on the version an
# absolute Dockerfile path or a context left relative to the project directory.
V2 = """\
name: shop
services:
  backend:
    build:
      context: /srv/shop/backend
      dockerfile: /srv/shop/backend/Dockerfile.prod
      target: runtime
      args:
        FROMENV: null
        NUM: "3"
      labels:
        team: web
      cache_from:
        - shop-backend:latest
    image: shop/backend:abc
    networks:
      default: null
  proxy:
    build:
      context: ./proxy
      dockerfile: Dockerfile
      args:
        - MODE=edge
        - UNSET
    networks:
      default: null
  short:
    build: ./short
networks:
  default:
    name: shop_default
"""


def test_v1_build_sections() -> None:
    sections = parse_build_sections(V1, Path("/srv/shop"))
    assert sorted(sections) == ["backend", "proxy"]
    assert sections["backend"] == BuildSection(
        service="backend",
        context="/srv/shop/backend",
        dockerfile="/srv/shop/backend/Dockerfile.prod",
        target="runtime",
        args={"FROMENV": "", "NUM": "3", "PIP_INDEX_URL": "https://pypi.org/simple"},
    )
    assert sections["proxy"].dockerfile == "/srv/shop/proxy/Dockerfile"
    assert sections["proxy"].target is None


def test_v2_build_sections() -> None:
    sections = parse_build_sections(V2, Path("/srv/shop"))
    backend = sections["backend"]
    assert backend.dockerfile == "/srv/shop/backend/Dockerfile.prod"
    assert dict(backend.args) == {"NUM": "3"}  # null: unset, left out as Compose does
    assert dict(backend.labels) == {"team": "web"}
    assert backend.image == "shop/backend:abc"
    assert backend.other_keys == ("cache_from",)
    proxy = sections["proxy"]
    assert (proxy.context, proxy.dockerfile) == ("/srv/shop/proxy", "/srv/shop/proxy/Dockerfile")
    assert dict(proxy.args) == {"MODE": "edge"}
    assert sections["short"].context == "/srv/shop/short"


def test_remote_contexts_are_kept_as_written() -> None:
    text = "services:\n  web:\n    build:\n      context: https://example.invalid/app.git#main\n"
    section = parse_build_sections(text, Path("/p"))["web"]
    assert section.context == "https://example.invalid/app.git#main"
    assert section.dockerfile == "Dockerfile"
    assert is_remote_context(section.context)
    assert is_remote_context("git@example.invalid:acme/app.git")
    assert not is_remote_context("/srv/app")


def test_no_services() -> None:
    assert parse_build_sections("", Path("/p")) == {}
    assert parse_build_sections("services:\n  a:\n", Path("/p")) == {}
