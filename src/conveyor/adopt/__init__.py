"""What a project already has, read from its own files: Conveyor respects it, owns only the rest.

`sources` reads the files (pyproject.toml, tox.ini, setup.cfg, pytest.ini, .pre-commit-config);
`testing` finds the test runner, its configuration and where test dependencies are declared;
`checker` finds the type checker the project configures; `pins` the tool versions it pins;
`pythons` the versions it declares; `conflicts` which groups must stay apart from safety's.
"""
