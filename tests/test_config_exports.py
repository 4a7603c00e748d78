"""The ``[exports]`` settings (issue 6): defaults, the directory, validation naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgate.config import load_settings
from smsgate.errors import ConfigError


def test_defaults_put_the_files_under_the_data_dir(tmp_path: Path) -> None:
    exports = load_settings(None, {}, cwd=tmp_path).exports
    assert exports.dir == str(tmp_path / "var" / "exports")
    assert (exports.retention_days, exports.batch_rows, exports.workers) == (7, 5000, 2)
    assert (float(exports.poll_interval), float(exports.lease), exports.max_queued) == (2, 60, 20)
    moved = load_settings(None, {"SMSGATE_DATA_DIR": "/srv/smsgate"}, cwd=tmp_path).exports
    assert moved.dir == "/srv/smsgate/exports"


def test_directory_and_durations_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "smsgate.toml"
    config.write_text('[exports]\ndir = "csv"\nlease = "5m"\nretention_days = 30\n')
    exports = load_settings(
        config, {"SMSGATE_EXPORTS_POLL_INTERVAL": "500ms"}, cwd=tmp_path
    ).exports
    assert exports.dir == str(tmp_path / "csv")  # relative: from the working directory
    assert (float(exports.lease), exports.retention_days, float(exports.poll_interval)) == (
        300,
        30,
        0.5,
    )
    absolute = load_settings(None, {"SMSGATE_EXPORTS_DIR": "/data/exports"}, cwd=tmp_path)
    assert absolute.exports.dir == "/data/exports"


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("SMSGATE_EXPORTS_BATCH_ROWS", "0", "exports.batch_rows"),
        ("SMSGATE_EXPORTS_WORKERS", "-1", "exports.workers"),
        ("SMSGATE_EXPORTS_RETENTION_DAYS", "0", "exports.retention_days"),
        ("SMSGATE_EXPORTS_LEASE", "0", "exports.lease"),
        ("SMSGATE_EXPORTS_POLL_INTERVAL", "soon", "exports.poll_interval"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, name: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(None, {name: value}, cwd=tmp_path)
    assert refused.value.key.startswith(key)
