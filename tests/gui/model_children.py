"""A child algorithm of a graphical model, set up as QGIS's Model Designer sets one up: the given parameter
sources, every other non-destination parameter at its default, and the named outputs as model outputs.
Used by the desktop workflow script and by tests/qgis/models/build_search_and_crop.py (QGIS imports only)."""
from qgis.core import (QgsProcessingModelChildAlgorithm, QgsProcessingModelChildParameterSource,
                       QgsProcessingModelOutput)
from qgis.PyQt.QtCore import QPointF


def model_child(algorithm_id, child_id, description, position, parameters, outputs=()):
    """parameters: {name: source or [sources]}; outputs: [(model output name, child output name)]."""
    component = QgsProcessingModelChildAlgorithm(algorithm_id)
    component.setChildId(child_id)
    component.setDescription(description or component.algorithm().displayName())
    component.setPosition(QPointF(*position))
    for name, value in parameters.items():
        component.addParameterSources(name, value if isinstance(value, list) else [value])
    for definition in component.algorithm().parameterDefinitions():  # as the designer fills in defaults
        if definition.name() not in parameters and not definition.isDestination() \
                and definition.defaultValue() is not None:
            component.addParameterSources(
                definition.name(), [QgsProcessingModelChildParameterSource.fromStaticValue(definition.defaultValue())])
    model_outputs = {}
    for index, (name, child_output) in enumerate(outputs):
        output = QgsProcessingModelOutput(name, name)
        output.setChildId(child_id)
        output.setChildOutputName(child_output)
        output.setPosition(QPointF(position[0] + 230, position[1] + 50 + 45 * index))
        model_outputs[name] = output
    component.setModelOutputs(model_outputs)
    return component
