"""Organiser web pages under /manage (being built)."""

from flask import Blueprint

manage_pages = Blueprint("manage_pages", __name__, url_prefix="/manage", template_folder="templates")
