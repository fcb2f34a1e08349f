"""The terminal: typer commands and everything that prints or prompts.

``app`` holds the typer application and the plan commands (validate, show, schema,
kinds); ``run`` the commands that walk a plan (plan, run, runs, resume, rollback, report,
locks, unlock, demo); ``sandbox`` the twin's commands. ``render``, ``report`` and
``live`` turn plans and journal events into text; ``operator`` asks the person
(questionary). Nothing below this package prints or prompts.
"""
