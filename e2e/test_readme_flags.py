"""The README's `tandem serve` flag table and `tandem serve --help` agree: the same flags, the same defaults.

The defaults live once, in the configuration types; the command line reads them from there and this
test keeps the README honest.
"""
import json
import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def help_arguments(binary):
    dump = subprocess.run([str(binary), "serve", "--experimental-dump-help"], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    arguments = {}
    for argument in json.loads(dump)["command"]["arguments"]:
        names = [n["name"] for n in argument.get("names", []) if n["kind"] == "long"]
        if names and names[0] != "help":
            arguments["--" + names[0]] = argument
    return arguments


def readme_rows():
    """(flag, default cell) for each flag of the table under the `tandem serve` flags heading."""
    text = README.read_text()
    section = text.split("### `tandem serve` flags", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`--"):
            continue
        flags = re.findall(r"`(--[a-z0-9-]+)", cells[0])
        defaults = [d.strip() for d in cells[1].split(",")] if len(flags) > 1 else [cells[1]]
        if len(defaults) != len(flags):
            defaults = [cells[1]] * len(flags)
        rows += [(flag, default.replace("`", "")) for flag, default in zip(flags, defaults)]
    return rows


def test_every_flag_is_documented_with_its_default(tandem_binary):
    arguments = help_arguments(tandem_binary)
    rows = readme_rows()
    documented = [flag for flag, _ in rows]
    assert sorted(set(documented)) == sorted(documented), "a flag is listed twice in the README"
    assert set(documented) == set(arguments), (
        f"only in --help: {sorted(set(arguments) - set(documented))}; "
        f"only in the README: {sorted(set(documented) - set(arguments))}")
    for flag, cell in rows:
        argument = arguments[flag]
        if argument["kind"] == "flag":
            assert cell == "off", f"{flag}: a flag is off unless given, the README says {cell!r}"
        elif "defaultValue" in argument:
            assert cell == argument["defaultValue"], f"{flag}: --help says {argument['defaultValue']!r}, README {cell!r}"


def test_a_mistyped_choice_is_an_error_listing_the_choices(tandem_binary):
    for flag, choices in [("--log-level", ["trace", "info", "critical"]), ("--chat-template", ["gemma", "chatml"]),
                          ("--log-format", ["text", "json"])]:
        run = subprocess.run([str(tandem_binary), "serve", flag, "loud"], capture_output=True, text=True, timeout=30)
        assert run.returncode != 0
        assert "'loud' is invalid" in run.stderr and all(c in run.stderr for c in choices), run.stderr
