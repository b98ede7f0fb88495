"""nova's objects: the cell0 mapping's uuid that api migration 030 looks up."""


class CellMapping:
    CELL0_UUID = "00000000-0000-0000-0000-000000000000"
