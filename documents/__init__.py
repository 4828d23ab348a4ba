"""Word documents: parsing an uploaded draft and compiling the consolidated draft.

The package is pure: it takes bytes and returns bytes or plain data, and knows nothing
about Telegram, the database or the bot.
"""
