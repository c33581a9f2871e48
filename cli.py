"""Command-line tools: ``flask --app app create-admin|seed-demo``."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from extensions import db
from models import Role, User


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", help="Prompted for (hidden) when not given.")
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value, show_default=True)
    def create_admin(username: str, password: str | None, role: str) -> None:
        """Create a dashboard user, or reset the password and role of an existing one."""
        username = username.strip()
        if not username or len(username) > 64:
            raise click.BadParameter("the username must be 1 to 64 characters", param_hint="USERNAME")
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 8:
            raise click.BadParameter("use at least 8 characters", param_hint="--password")
        user = db.session.scalar(select(User).where(User.username == username))
        created = user is None
        if user is None:
            user = User(username=username, display_name=username)
            db.session.add(user)
        user.role = role
        user.active = True
        user.set_password(password)
        db.session.commit()
        click.echo(f"{'Created' if created else 'Updated'} {role} '{username}'.")

    @app.cli.command("work")
    @click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit.")
    @click.option("--interval", default=5.0, show_default=True, help="Seconds between looks at the queue.")
    def work(once: bool, interval: float) -> None:
        """Run background jobs: Webmention verification and outbound pings."""
        from services import jobs

        if once:
            click.echo(f"{jobs.work_once(app)} job(s) run.")
            return
        click.echo("Working on the job queue (Ctrl-C stops).")
        try:
            jobs.serve(app, interval)
        except KeyboardInterrupt:
            click.echo("Stopped.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the site has no articles yet (used by `make run`).")
    def seed_demo(if_empty: bool) -> None:
        """Add the demo articles and comment threads (safe to run again)."""
        from models import Article
        from services import demo

        if if_empty and db.session.scalar(select(Article.id).limit(1)) is not None:
            click.echo("The site has articles; demo content not added.")
            return
        added = demo.seed(app)
        click.echo(f"Demo content: {added} article(s) added." if added else "Demo content already present.")

    from services.bench_data import register as register_bench_data

    register_bench_data(app)
