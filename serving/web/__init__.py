"""The built-in web page served at `/`, and the document viewer's endpoints it uses.

The page is plain ES modules and CSS in `static/`, with no build step (see the README's
"Web page" section for why). Everything it shows comes from the public API.
"""
