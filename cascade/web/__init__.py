"""The web layer: signed forms for officials, the operator's board, a JSON API (see cascade.web.app)."""
