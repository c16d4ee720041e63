"""Stand-ins for ``coder pseudonymise --style name``: common first names and surnames, and invented
places and services. Chosen in a fixed order, so the same key always gives the same names."""

from __future__ import annotations

# fmt: off
FEMALE_FIRST = (
    "Maria", "Joanne", "Leanne", "Tanya", "Michelle", "Nicole", "Sandra", "Donna", "Kelly", "Lisa", "Angela",
    "Tracey", "Samantha", "Natalie", "Rebecca", "Claire", "Emma", "Louise", "Gemma", "Stacey", "Danielle",
    "Amy", "Laura", "Rachel", "Hannah", "Sophie", "Chloe", "Jade", "Kirsty", "Lauren", "Monique", "Latoya",
    "Keisha", "Tamara", "Crystal", "Brittany", "Ashley", "Jasmine", "Destiny", "Tiffany", "Ana", "Lucia",
    "Carmen", "Rosa", "Elena", "Irina", "Olena", "Svetlana", "Mihaela", "Ioana", "Blessing", "Precious",
    "Chioma", "Ngozi", "Adaeze", "Fatima", "Aisha", "Mariam", "Yasmin", "Leila", "Mei", "Lin", "Thi", "Linh",
    "Priya", "Anjali", "Sunita", "Rukhsana", "Nadia", "Zara",
)
MALE_FIRST = (
    "David", "Michael", "James", "John", "Robert", "Paul", "Mark", "Steven", "Andrew", "Daniel", "Chris",
    "Christopher", "Tony", "Gary", "Kevin", "Wayne", "Darren", "Lee", "Jason", "Craig", "Dave", "Mike", "Jim",
    "Rob", "Steve", "Andy", "Dan", "Tom", "Thomas", "Matthew", "Anthony", "Joseph", "Brian", "Richard", "Peter",
    "Ian", "Stuart", "Neil", "Dean", "Carl", "Marcus", "Tyrone", "Jamal", "Andre", "Luis", "Carlos", "Jose",
    "Miguel", "Ivan", "Sergei", "Emeka", "Chinedu", "Tunde", "Mohammed", "Ahmed", "Ali", "Omar", "Hassan",
    "Raj", "Sanjay",
)
SURNAMES = (
    "Lopez", "Harper", "Bennett", "Collins", "Murray", "Fletcher", "Gordon", "Holland", "Jennings", "Kemp",
    "Lawson", "Marsh", "Norris", "Osborne", "Palmer", "Quinn", "Rowe", "Sutton", "Tucker", "Vaughan", "Walsh",
    "Yates", "Barker", "Chapman", "Dixon", "Ellis", "Foster", "Gibson", "Hayes", "Irving", "Jarvis", "Knight",
    "Lambert", "Mason", "Nash", "Owens", "Porter", "Reid", "Shaw", "Thornton", "Warren", "Abbott", "Boyle",
    "Carver", "Doherty", "Evans", "Fraser", "Grant", "Hughes", "Ingram", "Mensah", "Adeyemi", "Nwosu", "Okoro",
    "Haddad", "Khan", "Patel", "Nguyen", "Tran", "Garcia", "Morales", "Reyes", "Popescu", "Ionescu",
    "Kovalenko", "Petrova", "Novak", "Horvat", "Silva", "Costa",
)
PLACES = (
    "Ashford Vale", "Brackwell", "Cranmoor", "Dunhollow", "Eastmere", "Fallbrook", "Greystone",
    "Harrowgate Hill", "Ivybridge Cross", "Kestrel Bay", "Larkfield", "Millbank Heath", "Northcombe",
    "Oakhurst", "Pembridge", "Queensford", "Redcliffe Park", "Stonebury", "Thornwick", "Upton Marsh",
    "Westholme", "Yarrowdale", "Elmridge", "Foxley", "Glenmoor", "Hollins End", "Kingsmere", "Lowfield",
    "Marshgate", "Newhaven Row",
)
ORGANISATIONS = (
    "Northgate Outreach", "Harbour Lane Women's Service", "Riverside Support Project", "Beacon House",
    "Eastside Drop-in", "Willow Trust", "Crossroads Advocacy", "Meadow Street Clinic", "Safe Passage Network",
    "Lanterns Charity", "Hillview Health Centre", "Open Door Project", "Westbank Housing Association",
    "St Columba's Church", "Kestrel Recovery Service", "Brightwater Foundation", "Unity Refuge",
    "Parkside Community Centre", "Old Mill Café", "Granary Road Hostel",
)
# fmt: on
