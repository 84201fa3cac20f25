"""The read-only result tables of the docks: whole rows selected, columns sized to their contents."""
from typing import Sequence

from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QWidget

from ..qgis_common.translation import tr


def read_only_table(parent: QWidget, titles: Sequence[str], extended_selection: bool = False) -> QTableWidget:
    """An empty table with the translated column ``titles``; ``extended_selection``: several rows at once."""
    table = QTableWidget(0, len(titles), parent)
    table.setHorizontalHeaderLabels([tr(title) for title in titles])
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if extended_selection:
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setVisible(False)
    return table
