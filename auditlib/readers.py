"""The readers' public names where callers of earlier versions import them; they live in
:mod:`auditlib.io` (the log in ``io.log``, the formats in ``io.formats``)."""
from .io.formats import detect_format, register_format
from .io.log import MessageLog, read_log, read_message_file, read_messages

__all__ = ["MessageLog", "detect_format", "read_log", "read_message_file", "read_messages", "register_format"]
