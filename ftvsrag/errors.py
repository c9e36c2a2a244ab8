"""The one exception type that the CLI turns into a single readable line and exit status 2."""


class UserInputError(Exception):
    """Bad input from the user (a config, a data file, a model name): say what is wrong, no traceback.

    Lives in the root package because train/, rag/ and eval/ all raise it and train/ and rag/
    must not import eval/.
    """
