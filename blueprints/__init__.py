"""HTTP blueprints, one per audience."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from blueprints.comments import bp as comments_bp
    from blueprints.linkbacks import bp as linkbacks_bp
    from blueprints.news import bp as news_bp

    app.register_blueprint(news_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(linkbacks_bp)
