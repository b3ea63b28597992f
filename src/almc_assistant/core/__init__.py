"""Qt-free core: everything the user's data depends on. Never imports PySide6."""
