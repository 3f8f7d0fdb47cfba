"""A module no code imports: a test proves that reading a row never imports it."""


class Boom(Exception):
    pass
