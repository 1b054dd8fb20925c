"""Print the generated mapping SQL: python -m collectors.dynamics_project > collectors/dynamics_project/mapping.sql"""

from collectors.dynamics_project import generated_mapping

print(generated_mapping(), end="")
