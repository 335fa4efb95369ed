"""``--json``: one convention for every verb that produces a result.

With ``--json`` a verb writes exactly one JSON document to standard output:
its result, or, when it fails, ``{"error": MESSAGE, "exit_status": N}``
(``json_error``), so that a script reads standard output alone, whatever
happens. Progress bars are not drawn; other messages (files written, notes)
go to standard error. The exit status is the same as without ``--json``.
"""

import json

JSON_HELP = (
    "print the result as one JSON document on standard output, without progress bars "
    "(messages go to standard error; an error is {\"error\": ..., \"exit_status\": ...} "
    "on standard output)"
)


def add_json_option(parser):
    """``--json``, with the help text every verb shares."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)


def print_result(arguments, document, text=None):
    """The verb's result: ``document`` as JSON under ``--json``, else ``text``.

    ``arguments.result_stream`` is the standard output ``mtfcdd.cli.main``
    kept aside: under ``--json`` everything else printed goes to standard
    error.
    """
    if arguments.json:
        print(json.dumps(document, indent=2), file=arguments.result_stream, flush=True)
    elif text is not None:
        print(text)


def json_error(message, exit_status):
    """The JSON document of a failed command."""
    return json.dumps({"error": message, "exit_status": exit_status})
