"""HTTP blueprints, one per audience."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from blueprints.admin import bp as admin_bp
    from blueprints.admin.public import bp as modlog_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.comments import bp as comments_bp
    from blueprints.linkbacks import bp as linkbacks_bp
    from blueprints.news import bp as news_bp

    app.register_blueprint(news_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(linkbacks_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(modlog_bp)
