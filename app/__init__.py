"""The Streamlit app: a router, small pages, one module of queries."""
