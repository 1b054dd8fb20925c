"""Print the generated mapping SQL: python -m collectors.dynamics_sales > collectors/dynamics_sales/mapping.sql"""

from collectors.dynamics_sales import generated_mapping

print(generated_mapping(), end="")
