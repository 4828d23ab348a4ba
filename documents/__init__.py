"""Word documents: parsing an uploaded draft and compiling the consolidated draft, the
draft with proposed wording as tracked changes and the comment matrix (.xlsx).

The package is pure: it takes bytes and returns bytes or plain data, and knows nothing
about Telegram, the database or the bot.
"""
