"""``python -m pytest_devsession``: the commands it accepts, and a clear error for others."""
from __future__ import annotations

import pytest

from pytest_devsession.__main__ import main


@pytest.mark.parametrize("argv", [["install"], ["setup", "--force"], []])
def test_a_wrong_command_is_a_usage_error_listing_the_accepted_ones(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m pytest_devsession")
    if argv == ["install"]:
        assert "invalid choice: 'install' (choose from 'setup')" in err
    elif argv:
        assert "unrecognized arguments: --force" in err
    else:
        assert "the following arguments are required: COMMAND" in err


def test_help_lists_setup(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "setup" in out and "python -m pytest_devsession.local" in out
