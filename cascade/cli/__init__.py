"""The `cascade` command line: one module per kind of command, all on one `app`.

- `cascade.cli.files`: validate, plan, schema (files, before anything is deployed)
- `cascade.cli.running`: deploy, undeploy, serve, web, tick
- `cascade.cli.channels`: notify-test, dispatch, zalo-token
- `cascade.cli.admin`: settings, doctor
- `cascade.cli.signals`: signal
- `cascade.cli.decisions`: extend, exempt, withdraw
- `cascade.cli.simulation`: simulate
- `cascade.cli.status`: status
- `cascade.cli.reading`: events, decisions
- `cascade.cli.documents`: report, template

`cascade.cli.common` holds what they share. Commands are listed in `--help` in the order
of this list, which is the order an operator meets them.
"""

# each module adds its commands to `app`, in the order `--help` lists them
from cascade.cli import files, running, channels, admin, signals, decisions  # noqa: F401, I001
from cascade.cli import simulation, status, reading, documents  # noqa: F401
from cascade.cli.common import app, main
from cascade.cli.files import SchemaKind, schema_of

__all__ = ["SchemaKind", "app", "main", "schema_of"]
