from conftest import strict_json


def test_worked_example_json(grad):
    result = grad("eval", "(x + y) * z", "x=-2", "y=5", "z=-4", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["value"] == -12
    assert data["gradient"] == {"x": -4, "y": -4, "z": 3}
