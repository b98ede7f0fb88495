def _(message):
    return message
