"""Schema 3: what each integration calls an incident (Slack thread ts, Statuspage incident
id, Jira issue key, ServiceNow sys_id), so later messages update the same thread, page or
ticket. Frozen once released."""
from sqlalchemy import Column, Connection, ForeignKey, MetaData, String, Table

VERSION = 3


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("incident", md, Column("id", String(32), primary_key=True))  # for the foreign key only
    Table(
        "vendor_reference", md,
        Column("incident_id", String(32), ForeignKey("incident.id"), primary_key=True),
        Column("integration", String(32), primary_key=True),
        Column("reference", String(256), nullable=False),
    )
    md.tables["vendor_reference"].create(conn)
