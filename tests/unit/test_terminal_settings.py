"""Under SSH the command center caps its frame rate and turns animations off."""
import subprocess
import sys

from tui.launch import SSH_FPS, prepare_terminal


def test_ssh_caps_frames_and_animations():
    env = {"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}
    assert prepare_terminal(env) is True
    assert env["TEXTUAL_FPS"] == SSH_FPS and env["TEXTUAL_ANIMATIONS"] == "none"


def test_a_users_own_setting_wins():
    env = {"SSH_TTY": "/dev/pts/3", "TEXTUAL_FPS": "30"}
    prepare_terminal(env)
    assert env["TEXTUAL_FPS"] == "30"


def test_local_terminal_is_left_alone():
    env = {}
    assert prepare_terminal(env) is False and env == {}


def test_textual_reads_the_cap():
    code = ("import os; from tui.launch import prepare_terminal; prepare_terminal(os.environ); "
            "from textual import constants; print(constants.MAX_FPS, constants.TEXTUAL_ANIMATIONS)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"SSH_CONNECTION": "x", "PATH": ""})
    assert result.stdout.split() == [SSH_FPS, "none"]
