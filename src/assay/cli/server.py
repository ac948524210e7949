"""``assay serve``, ``assay user ...`` and ``assay token ...``: the server and who may use it."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, table
from assay.services.access import GLOBAL_ROLES, SYSTEM_ROLES

__all__ = ["register"]

user_app = typer.Typer(help="Local users of the server and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens (for the API and CI).", no_args_is_help=True)

_Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="ASSAY_PASSWORD",
        help="The password (prompted when not given; or ASSAY_PASSWORD). At least 12 characters.",
    ),
]


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    insecure_cookies: Annotated[
        bool, typer.Option(help="Send the session cookie over plain HTTP (only behind no proxy, on loopback).")
    ] = False,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Let the compute routes load registered joblib/pickle model files, which run any code they hold: "
            "only if you trust everyone who can register a model version. Prefer skops or ONNX.",
        ),
    ] = False,
) -> None:
    """Serve the web application and the REST API (/api/docs) on the workspace's database."""
    import uvicorn

    from assay.server import create_app

    workspace = open_workspace(ctx)
    typer.echo(f"Assay on http://{host}:{port}/ (API docs at /api/docs); workspace {workspace.home}")
    if trust_pickle:
        typer.echo(
            "warning: --trust-pickle: registered joblib/pickle model files will be loaded (they run code)", err=True
        )
    app = create_app(
        workspace,
        secure_cookies=not insecure_cookies,
        trust_pickle=trust_pickle,
        worker_process=workspace.settings.worker_process,
        freeze_gc=True,  # this process is only the server
        warm=True,  # what the first views share, built at the start
    )
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, and the login limit counts by client
    # address: only the configured proxies (ASSAY_TRUSTED_PROXIES) may name another client
    proxies = ",".join(p.strip() for p in workspace.settings.trusted_proxies.split(",") if p.strip())
    uvicorn.run(
        app, host=host, port=port, log_level="info", proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None
    )


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    password: _Password,
    role: Annotated[str, typer.Option(help=f"Global role: {', '.join(GLOBAL_ROLES)}.")] = "member",
) -> None:
    """Add a local user (the password is stored as an argon2id hash)."""
    user = open_workspace(ctx).access.add_user(name, password, role=role)
    typer.echo(f"user {user.name} ({user.role}) added")


@user_app.command("list")
def user_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List users."""
    workspace = open_workspace(ctx)
    rows = [
        {"name": u.name, "role": u.role, "active": u.active, "systems": workspace.access.memberships(u.name)}
        for u in workspace.access.users()
    ]
    table(rows, ["name", "role", "active", "systems"], title="Users", as_json=as_json)


@user_app.command("grant")
def user_grant(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    system: Annotated[str, typer.Argument(help="AI system.")],
    role: Annotated[str, typer.Argument(help=f"Role on the system: {', '.join(SYSTEM_ROLES)}.")],
) -> None:
    """Give a user a role on one AI system."""
    open_workspace(ctx).access.grant(name, system, role)
    typer.echo(f"{name} is {role} of {system}")


@user_app.command("role")
def user_role(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help=f"Global role: {', '.join(GLOBAL_ROLES)}.")],
) -> None:
    """Change a user's global role."""
    open_workspace(ctx).access.set_role(name, role)
    typer.echo(f"{name} is now {role}")


@user_app.command("deactivate")
def user_deactivate(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Stop a user from logging in or using tokens (their history stays)."""
    open_workspace(ctx).access.deactivate(name)
    typer.echo(f"{name} is deactivated")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. ci.")] = "token",
    scope: Annotated[
        str,
        typer.Option(
            help="read, write, ingest (may only send captured inference records and labels) or feedback (may only "
            "submit end users' feedback: the token a public web page embeds)."
        ),
    ] = "read",
    days: Annotated[int, typer.Option(help="Days until it expires (1-366).")] = 90,
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    secret, token = open_workspace(ctx).access.create_token(user, name, scope=scope, days=days)
    typer.echo(secret)
    typer.echo(f"token {token.id} ({token.scope}) for {user}, expires {token.expires_at:%Y-%m-%d}", err=True)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    open_workspace(ctx).access.revoke_token(token_id)
    typer.echo(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
