"""musim: content-based music similarity.

Last.FM co-listening in a DuckDB warehouse, 30-second previews in object storage, audio features in a
small feature store, siamese and embedding models, all orchestrated by Airflow. Everything here is
importable and usable without Airflow.
"""

__version__ = "0.1.0"

from musim.redact import install_log_redaction as _install_log_redaction

_install_log_redaction()  # no secret in any log line of a process that uses musim (musim.redact)
