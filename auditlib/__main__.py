"""``python -m auditlib`` is the ``auditlib`` command."""
from .cli import main

main()
