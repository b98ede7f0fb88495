import datetime


def utcnow():
    return datetime.datetime.utcnow()
