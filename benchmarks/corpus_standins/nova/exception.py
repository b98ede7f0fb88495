class ValidationError(Exception):
    def __init__(self, detail=""):
        super().__init__(detail)
